import sys

from course.book.build import main

sys.exit(main())
