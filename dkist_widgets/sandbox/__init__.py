"""The embedded offline world: sample archive, loopback DKIST data centre, loopback Globus."""
