import sys

from course.translations.command import main

sys.exit(main())
