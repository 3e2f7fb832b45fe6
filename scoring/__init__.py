"""The scoring worker: unscored messages from storage → the sentiment analyser → scores stored.

It is the one place where storage and sentiment meet; neither knows the other."""
