"""The scoring worker: takes unscored messages from storage, runs the sentiment analyser, stores scores.

It is the one place where storage and sentiment meet; neither knows the other."""
