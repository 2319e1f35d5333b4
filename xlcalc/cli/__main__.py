"""python -m xlcalc.cli"""

import sys

from . import main

sys.exit(main())
