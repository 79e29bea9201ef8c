"""The cage: a memory cgroup for the allocator (`cage.Cage`), its sizing, the reaper that
removes it if the show dies, the lifeline that ties children to the show, and the cache
file. Nothing is imported here, so the children stay light.
"""
