"""``python -m simcardionet_lite``: the same as the ``simcardionet-lite`` command."""

from simcardionet_lite.cli import main

raise SystemExit(main())
