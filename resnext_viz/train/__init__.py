"""The mini-training lab: seeded data sets, small ResNeXt-style networks, shared runs, verdicts on claims."""
