"""The pytest plugin for integrators (`sandbox.testing.plugin`, registered through the
`pytest11` entry point) and the pieces it is made of."""
