"""Building images on the host: wheels (lock, fetch), the lab images and the hub image."""
