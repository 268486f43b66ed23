"""Built-in task plugins. Importing this package registers them (one module per task)."""

from . import bits  # noqa: F401
from . import cifar10  # noqa: F401
from . import cifar10_lra  # noqa: F401
from . import remote_homology  # noqa: F401
from . import mnist  # noqa: F401
from . import listops  # noqa: F401
