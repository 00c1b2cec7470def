"""The Mediaproof web app: wallet sign-in, verify-a-file, and the pages still to come."""
