"""The runnable examples, installed as the package `tinygrad_rnn_examples` for the CLI."""
