"""The allocator child that fills the cage, and the show's handle on it.

`handle.Allocator` (the show's side) spawns `python -m oomphony.allocator` (`__main__`,
`child`, `fill`, `shm`); the sleeper is a second, idle child. Nothing is imported here,
so the child stays light.
"""
