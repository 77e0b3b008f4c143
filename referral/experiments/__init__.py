"""A/B and n-arm tests of reward structures, and holdouts for incrementality.

`assignment` puts units (advocates, customers) into arms and holdouts by hashing;
`proportions` and `means` are the statistics; `results` and `incrementality` apply them to
what the database counted; `sample_size` says how many units a test needs. Pure functions:
the distributions come from `scipy.special`, nothing reads a clock or a database.
"""
