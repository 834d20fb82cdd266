"""FDI numbering, surfaces and dentition by age and history (DOMAIN.md "Lifecycle dental record")."""
from datetime import date

import pytest

from portal.services import ServiceError
from portal.services.chart_teeth import (ALL_TEETH, PERMANENT, PRIMARY, dentition, dentition_type, predecessor,
                                         successor, valid_grade, valid_surfaces, valid_tooth)

VALID = ([*range(11, 19), *range(21, 29), *range(31, 39), *range(41, 49)]
         + [*range(51, 56), *range(61, 66), *range(71, 76), *range(81, 86)])


def test_the_valid_set_is_exactly_the_domain_ranges():
    assert sorted(ALL_TEETH) == VALID
    assert len(PERMANENT) == 32 and len(PRIMARY) == 20


@pytest.mark.parametrize("tooth", VALID)
def test_every_valid_tooth_is_accepted(tooth):
    assert valid_tooth(tooth) == tooth
    assert valid_tooth(str(tooth)) == tooth
    assert valid_tooth(str(tooth).translate({ord(str(d)): chr(0xFF10 + d) for d in range(10)})) == tooth


@pytest.mark.parametrize("tooth", [n for n in range(0, 100) if n not in VALID])
def test_every_other_two_digit_number_is_refused(tooth):
    with pytest.raises(ServiceError) as err:
        valid_tooth(f"{tooth:02d}")
    assert err.value.field == "tooth"
    assert str(tooth) in str(err.value.message) or "two digits" in str(err.value.message)


@pytest.mark.parametrize("value", ["", None, "1", "111", "a1", "-11", "1.5", " ", "²¹", "11; DROP", "٣٦"])
def test_malformed_tooth_numbers_are_refused(value):
    with pytest.raises(ServiceError):
        valid_tooth(value)


def test_refusal_messages_say_what_is_wrong():
    with pytest.raises(ServiceError) as err:
        valid_tooth(56)
    assert "primary" in str(err.value.message)
    with pytest.raises(ServiceError) as err:
        valid_tooth(19)
    assert "11–18" in str(err.value.message)


def test_surfaces_are_canonical_and_checked_against_the_tooth():
    assert valid_surfaces(36, "dom", "caries") == "MOD"
    assert valid_surfaces(11, "m i", "filling") == "MI"
    assert valid_surfaces(46, "F,P", "filling") == "BL"  # facial = buccal, palatal = lingual
    assert valid_surfaces(75, "O", "caries") == "O"
    for tooth, bad in ((11, "O"), (36, "I"), (36, "X"), (36, "")):
        with pytest.raises(ServiceError) as err:
            valid_surfaces(tooth, bad, "caries")
        assert err.value.field == "surfaces"
    with pytest.raises(ServiceError):
        valid_surfaces(36, "O", "crown")  # a crown covers the whole tooth
    assert valid_surfaces(36, "", "crown") == ""


def test_mobility_needs_a_grade_of_one_to_three():
    assert valid_grade("mobility", "2") == 2
    assert valid_grade("caries", "9") is None
    for bad in (None, "", "0", "4", "x"):
        with pytest.raises(ServiceError):
            valid_grade("mobility", bad)


def test_successors_and_predecessors():
    assert successor(55) == 15 and successor(61) == 21 and successor(75) == 35 and successor(84) == 44
    assert predecessor(36) is None and predecessor(13) == 53


def _shown(birth, on, history=None):
    slots = dentition(birth, on, history or {})
    return {s.tooth for s in slots.values()}, dentition_type(slots)


def test_a_baby_has_no_teeth_then_primary_teeth():
    assert _shown(date(2026, 1, 1), date(2026, 4, 1)) == (set(), "none")
    teeth, kind = _shown(date(2020, 1, 1), date(2024, 1, 1))
    assert kind == "primary" and teeth == set(PRIMARY)


def test_a_seven_year_old_has_mixed_dentition():
    teeth, kind = _shown(date(2019, 3, 1), date(2026, 4, 1))
    assert kind == "mixed"
    assert {16, 26, 36, 46, 31, 41, 11, 21} <= teeth          # first molars and incisors through
    assert {75, 85, 55, 65, 53, 63} <= teeth                   # primary molars and canines still there
    assert not teeth & {17, 27, 37, 47, 15, 25, 51, 61, 71, 81}


def test_an_adult_has_permanent_dentition():
    teeth, kind = _shown(date(1990, 1, 1), date(2026, 1, 1))
    assert kind == "permanent" and teeth == set(PERMANENT)


def test_history_overrides_age():
    birth, on = date(2019, 3, 1), date(2026, 4, 1)
    teeth, _ = _shown(birth, on, {22: ["erupted"]})            # early eruption recorded
    assert 22 in teeth and 62 not in teeth
    slots = dentition(birth, on, {75: ["extraction"]})         # primary molar lost early
    assert slots[35].tooth == 75 and slots[35].state == "absent"
    slots = dentition(date(1990, 1, 1), date(2026, 1, 1), {53: ["caries"]})  # retained primary canine
    assert slots[13].tooth == 53
    slots = dentition(date(1990, 1, 1), date(2026, 1, 1), {46: ["missing"], 18: ["unerupted"]})
    assert slots[46].state == "absent" and slots[18].state == "unerupted"
    slots = dentition(date(1990, 1, 1), date(2026, 1, 1), {46: ["missing", "implant"]})
    assert slots[46].state == "present"
