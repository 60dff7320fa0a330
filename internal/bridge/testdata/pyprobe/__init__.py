from .module import Probe  # noqa: F401
