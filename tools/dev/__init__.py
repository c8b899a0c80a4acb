"""Developer set-up: the CDKTF CLI's app launcher, the README walkthrough."""
