"""The web chat client served at `/` (source in webclient/, built into static/)."""
