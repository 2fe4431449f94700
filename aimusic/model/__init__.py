"""The melody model: event encoding, network, sampling, training and evaluation."""
