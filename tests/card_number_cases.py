"""Cases both card-number regexes are tested on (modules/card_numbers.py):
the masking tests (tests/test_card_data_masking.py) and the WAF rule's
(tests/test_card_numbers.py) share them, so the two cannot drift apart."""

from __future__ import annotations

#: Luhn-valid test numbers of the card networks: both regexes find each.
TEST_PANS = (
    "4111111111111111",  # Visa
    "4222222222222",  # Visa, 13 digits
    "5500005555555559",  # Mastercard
    "2223003122003222",  # Mastercard 2-series
    "378282246310005",  # American Express
    "30569309025904",  # Diners Club
    "6011111111111117",  # Discover
    "3530111333300000",  # JCB
    "6200000000000005",  # UnionPay
)

#: Ordinary values neither regex matches.
ORDINARY_TEXTS = (
    "1733590800000",  # epoch milliseconds
    "1733590800123456",  # epoch microseconds
    "2026-12-07T18:23:49.123456Z",  # ISO timestamp
    "123e4567-e89b-12d3-a456-426614174000",  # UUID
    "ORD-20261207-000123",  # order id of short digit groups
    "411111111111",  # 12 digits: too short for a PAN
    "trace 94111111111",  # a short id
)

#: A card-shaped run inside a longer digit run: masked in part (the masking
#: regex has no digit boundary), never blocked (the WAF regex has one).
CARD_SHAPED_RUNS_IN_LONGER_NUMBERS = (
    "9411111111111111",  # a card-shaped run after another digit
    "1733590800123456789",  # epoch nanoseconds: a run from its third digit
    "123455000055555555599",  # a 21-digit reference
)
