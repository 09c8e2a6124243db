"""The learned engine of AutoSpec (Sec. 4, App. B-D).

numpy-only parts (importable without torch): :mod:`.spectra` (synthetic
training spectra, App. C.1), :mod:`.features` (probe -> network input,
Alg. 2/3 windows) and :mod:`.inference` (the forward pass and weight files).
torch parts, imported only for training: :mod:`.model`, :mod:`.losses`,
:mod:`.train`.
"""
