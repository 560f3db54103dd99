import json

import pytest

from textgym.rewards import Edit, Preference, Ranking, Rating, read_feedback, write_feedback
from textgym.rewards.feedback import feedback_from_dict

RECORDS = [
    Rating("p", "the cat slept .", 7.0),
    Preference("p", "the cat slept .", "cat the"),
    Ranking("p", ("a", "b", "c")),
    Edit("p", "the dog slept", "the cat slept ."),
]


def test_jsonl_round_trip(tmp_path) -> None:
    path = tmp_path / "sub" / "feedback.jsonl"
    assert write_feedback(path, RECORDS) == 4
    lines = path.read_text().splitlines()
    assert json.loads(lines[2]) == {"prompt": "p", "completions": ["a", "b", "c"]}
    assert read_feedback(path) == RECORDS


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"prompt": "p", "chosen": "a"}', r"preference record is missing field\(s\) \['rejected'\]"),
        ('{"prompt": "p", "completion": "a"}', "cannot tell the feedback kind"),
        ('{"completion": "a", "rating": 3}', r"missing field\(s\) \['prompt'\]"),
        ('{"prompt": "p", "completion": "a", "rating": NaN}', "finite number"),
        ('{"prompt": "p", "completion": "a", "rating": true}', "finite number"),
        ('{"prompt": "p", "completions": ["a"]}', "at least two distinct"),
        ('{"prompt": "p", "completions": ["a", "a"]}', "at least two distinct"),
        ('{"prompt": "p", "original": "a", "edited": "a"}', "changes nothing"),
        ('{"prompt": 3, "chosen": "a", "rejected": "b"}', "'prompt' must be a string"),
        ('{"prompt": "p", "chosen": "a", "rejected": "b", "rating": 1}', "several"),
        ('{"prompt": "p", "chosen": "a", ', "invalid JSON"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_records_name_the_file_and_line(tmp_path, line: str, message: str) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text('{"prompt": "p", "chosen": "a", "rejected": "b"}\n\n' + line + "\n")
    with pytest.raises(ValueError, match=message) as err:
        read_feedback(path)
    assert f"{path}:3:" in str(err.value)


def test_empty_file_and_extra_fields(tmp_path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(ValueError, match="no feedback records"):
        read_feedback(path)
    record = feedback_from_dict({"prompt": "p", "chosen": "a", "rejected": "b", "annotator": 7})
    assert record == Preference("p", "a", "b")
