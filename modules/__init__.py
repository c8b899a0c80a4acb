"""Constructs of the payment platform. No providers or backends here."""
