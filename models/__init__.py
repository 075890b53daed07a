"""The shipped model (``cleaner.npz``) and its model card; installed as ``cleaner.models``."""
