"""`oomphony render`: a show to a video file with its sound, faster than real time.

`job.py` plans and runs one render with the show's own `Runner`, `offline.py` gives the
runner an off-screen picture and an offline sound on one clock, `encoders.py` (with
`pyav.py` and `pipe.py`) writes the file. The command line is `cli/render.py`.
"""
