"""Quality checks: placement verification against the landmarks, and the contact sheet."""
