"""eschat's benchmarks: `python -m bench` compares eschat with peer servers
(see bench/__main__.py); the other modules here are standalone scripts."""
