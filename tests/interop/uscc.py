"""Unified Social Credit Codes (GB 32100-2015) for tests.

An 18-character code is: registration authority (1), category (1), administrative
region (6), the 9-character organisation code of GB 11714 (8 body characters and their
check character at position 17), and the final check character at position 18.
"""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# GB 32100: weight of position i (0-based) is 3^i mod 31.
CREDIT_WEIGHTS = [pow(3, i, 31) for i in range(17)]

# GB 11714: weights of the eight body characters of an organisation code.
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def _org_value(ch):
    """GB 11714 value: digits are themselves, letters count from A=10 over the whole
    Latin alphabet (so J is 19 even though the credit-code alphabet skips I)."""
    if "0" <= ch <= "9":
        return ord(ch) - ord("0")
    if "A" <= ch <= "Z":
        return 10 + ord(ch) - ord("A")
    raise ValueError("not an organisation code character: %r" % ch)


def org_check_char(body8):
    """Check character of an organisation code body (positions 9-16 of a credit code)."""
    if len(body8) != 8:
        raise ValueError("organisation code body must be 8 characters")
    total = sum(_org_value(ch) * w for ch, w in zip(body8, ORG_WEIGHTS))
    c = 11 - total % 11
    if c == 10:
        return "X"
    if c == 11:
        return "0"
    return str(c)


def credit_check_char(first17):
    """Final check character (position 18) over the first 17 characters."""
    if len(first17) != 17:
        raise ValueError("need the first 17 characters")
    total = 0
    for ch, w in zip(first17, CREDIT_WEIGHTS):
        v = ALPHABET.find(ch)
        if v < 0:
            raise ValueError("not a credit code character: %r" % ch)
        total += v * w
    c = 31 - total % 31
    if c == 31:
        c = 0
    return ALPHABET[c]


def complete(first16):
    """Appends both check characters to the first 16 characters of a code."""
    if len(first16) != 16:
        raise ValueError("need the first 16 characters")
    with_org = first16 + org_check_char(first16[8:16])
    return with_org + credit_check_char(with_org)


def make_code(region, body8, authority="9", category="1"):
    """A valid code for an enterprise (authority 9, category 1) registered in region."""
    if len(region) != 6 or not region.isdigit():
        raise ValueError("region must be 6 digits")
    return complete(authority + category + region + body8)


def is_valid(code):
    if len(code) != 18 or any(ch not in ALPHABET for ch in code):
        return False
    if not code[2:8].isdigit():
        return False
    return code[16] == org_check_char(code[8:16]) and code[17] == credit_check_char(code[:17])


def body_for(n):
    """An 8-character organisation code body for the integer n (distinct n, distinct
    bodies), using letters as well as digits so both check algorithms see letters."""
    if n < 0:
        raise ValueError("n must be non-negative")
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[r])
    if n:
        raise ValueError("n too large")
    return "".join(reversed(chars))


# Codes published as valid; the helper is checked against them before use.
KNOWN_VALID = ("91350100M000100Y43", "91110000100006485K")


def self_check():
    for code in KNOWN_VALID:
        if not is_valid(code) or complete(code[:16]) != code:
            raise AssertionError("credit code helper disagrees with known code " + code)
