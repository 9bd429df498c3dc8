import sys

from plmr.cli import main

sys.exit(main())
