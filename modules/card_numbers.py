"""What a payment card number looks like: one definition, two dialects.

CloudWatch Logs masks card numbers in log events with a custom data
identifier (``modules/observability/data_protection.py``, D59), and AWS WAF
blocks requests that carry one in the URL before the load balancer forwards
them (``modules/load_balancer.py``, D77). Both regexes are built here from
the same issuer shapes, so they cannot drift apart; tests/test_card_numbers.py
keeps the one difference (the digit boundary below) the only one.

Shapes: 13-19 digits behind a known issuer prefix: Visa 4 (13-19), Mastercard
51-55 and 2221-2720 (as 22-27; 16), American Express 34/37 (15), Diners
30/36/38 (14), JCB 35 (16-19), Discover 60/64/65 and UnionPay 62 (16-19).
Neither dialect can check Luhn digits: a 13-19 digit order or phone number
behind one of these prefixes matches too.
"""

from __future__ import annotations

#: One alternative per issuer shape, in CloudWatch Logs' documented
#: characters (no parentheses: custom data identifiers allow none).
CARD_NUMBER_SHAPES = (
    r"4\d{12,18}",
    r"5[1-5]\d{14}",
    r"2[2-7]\d{14}",
    r"3[47]\d{13}",
    r"3[068]\d{12}",
    r"35\d{14,17}",
    r"6[0245]\d{14,17}",
)

#: The masking regex (CloudWatch Logs custom data identifier). Its
#: documented characters exclude parentheses
#: (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL-custom-data-identifiers.html),
#: so there is no group and no digit boundary: the card-shaped part of a
#: longer digit run is masked too (over-masking, never a PAN in clear).
MASKING_REGEX = "|".join(CARD_NUMBER_SHAPES)

#: The blocking regex (AWS WAF regex pattern set): the same shapes, not
#: preceded or followed by a digit. A block is a failed request, so the
#: card-shaped part of a longer digit run (an epoch in nanoseconds, a
#: 20-digit reference) must not match. AWS WAF speaks PCRE without
#: capturing groups, backreferences, atomic groups or possessive quantifiers,
#: and supports "some zero-width assertions, but not all"
#: (https://docs.aws.amazon.com/waf/latest/developerguide/waf-regex-pattern-support.html);
#: the boundary is therefore spelled with non-capturing groups and a
#: consumed non-digit, not with lookarounds. At most 200 characters
#: (AWS WAF quotas, "Maximum number of characters allowed in a regex
#: pattern": https://docs.aws.amazon.com/waf/latest/developerguide/limits.html).
BLOCKING_REGEX = rf"(?:^|\D)(?:{MASKING_REGEX})(?:\D|$)"
