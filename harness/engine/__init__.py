"""The host's one way to talk to Docker: client, labelled containers, waiting, ports, the GPU decision."""
