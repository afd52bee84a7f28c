"""The course's labs on the host: the catalog of sources and the student/instructor versions made from them."""
