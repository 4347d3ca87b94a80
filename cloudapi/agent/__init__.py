"""Host agent: turns jobs from the API into libvirt domains."""
