"""Code that runs inside the lab image, next to (never inside) the student's kernel.

The Dockerfile copies this package into the image with the students' `practica` and, root-only in
/opt/dl-lab-judge, the judge's answer key (labs/answer_key; docs/architecture.md says what runs where).
It imports the standard library, numpy, torch, nbclient and matplotlib, never the host package
`harness` (docker-py, rich): the host may import the pure modules here (exercise tags and
declarations, JUnit), never the other way round.
"""
