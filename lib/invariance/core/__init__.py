"""Plumbing every layer uses: where files live (paths), atomic writes and provenance (files), config
hashes and the numerics policy (config), the CPU allocator setting (allocator), progress bars (progress)."""
