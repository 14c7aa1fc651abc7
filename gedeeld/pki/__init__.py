"""Certificates: the development CA and TLS start-up checks."""
