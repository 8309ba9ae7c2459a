"""One module per channel: verify and parse what comes in, render and deliver what goes out."""
