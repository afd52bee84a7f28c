"""The labs' answer key: everything that computes a correct answer to an exercise. Judge side only.

- `reference`: numpy reference computations (MLP forward passes, SGD epochs right and with the known
  mistakes, convolutions, pooling, LeNet-5);
- `labNN`: `expect(exercise, case, answer)`, each case's expected outputs and the outputs of the known
  mistakes, which the criteria of practica.labNN_checks compare the student's answers with; and the
  rebuilders of the labs' data sets (lab01.digit_split, lab02.test_set, which lab03 reuses);
- `kernel_data`: writes the public cases' expected outputs as data (practica/data/labNN.json), the
  only form in which any of this reaches the student's kernel (for `comprobar`).

Where it lives: labs/answer_key in the repository; /opt/dl-lab-judge/answer_key in the lab image,
owned by root with the folder 0700, on no sys.path but the judge's (in_image.judge.lab_tests puts it
there). The student's kernel runs as the notebook user, in `make lab`, on the hub and during grading,
and can neither import nor read it. The hidden cases' inputs (labs/hidden/labNN.py) reach only the
grading job's folder. Never import this package from practica or from anything that runs in the kernel.
"""

# A marker the reach tests look for in everything a student's kernel can read (and, as root, find here).
CANARY = "dl-lab-answer-key-canary-3d9b"
