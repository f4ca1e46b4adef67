"""The desk: people (directory), sign-in, sessions and access tokens; the web pages later."""
