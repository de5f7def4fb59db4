"""The texts Mission Control sends the gateway-main agent during an onboarding interview.

Each one carries everything the agent needs for its next step (the endpoints, the body shape,
how to authenticate), so no workspace template has to know about onboarding.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from mission_control.core.api import API_PREFIX

DRAFT_EXAMPLE = {
    "board_type": "goal",
    "objective": "Ship the public beta of the mobile app",
    "success_metrics": {"beta_users": 500},
    "target_date": "2027-03-31T00:00:00Z",
    "fully_autonomous": False,
    "user_profile": {
        "preferred_name": "Ana",
        "pronouns": "she/her",
        "timezone": "Europe/Madrid",
        "notes": "Prefers short daily summaries",
        "context": "Product manager of the mobile team",
    },
    "lead_agent": {
        "name": "Beta Lead",
        "role": "Release Coordinator",
        "communication_style": "direct, concise",
        "emoji": ":rocket:",
    },
}


@dataclass(frozen=True, slots=True)
class OnboardingRef:
    """What every onboarding message names."""

    onboarding_id: uuid.UUID
    board_id: uuid.UUID
    board_name: str
    base_url: str

    @property
    def endpoint(self) -> str:
        return f"{self.base_url.rstrip('/')}{API_PREFIX}/agent/boards/{self.board_id}/onboarding"


def _header(title: str, ref: OnboardingRef) -> list[str]:
    return [
        title,
        f"Board: {ref.board_name}",
        f"Board ID: {ref.board_id}",
        f"Onboarding ID: {ref.onboarding_id}",
    ]


def _how_to_reply(ref: OnboardingRef) -> list[str]:
    return [
        "How to reply (Mission Control's agent API, header `X-Agent-Token: <your AUTH_TOKEN>`,",
        "JSON bodies with `Content-Type: application/json`):",
        f"- Ask one question: POST {ref.endpoint}/questions",
        '  body {"question": "...", "options": ["...", "..."], "allow_free_text": true}',
        f"- When you know enough, post the draft: POST {ref.endpoint}/draft",
        f"  body {json.dumps(DRAFT_EXAMPLE)}",
        "  (board_type is goal or general; a goal board needs an objective; fully_autonomous",
        "  true means tasks may be marked done without a human approval.)",
        f"- Read the conversation so far: GET {ref.endpoint}",
        "The user answers in the Mission Control console; each answer reaches you in this",
        "session. Do not answer in this chat and do not contact the user on other channels",
        "for this interview.",
    ]


def start_message(ref: OnboardingRef, *, user_name: str, restarted_from: uuid.UUID | None) -> str:
    lines = _header("BOARD ONBOARDING REQUEST", ref)
    lines.append(f"Requested by: {user_name}")
    if restarted_from is not None:
        lines.append(
            f"This replaces onboarding {restarted_from}, which was abandoned: ignore its "
            "questions and answers and start over."
        )
    lines += [
        "",
        "Interview the user about this board's goal, one short question at a time (offer",
        "options where they help; five or six questions are usually enough): what the board",
        "should achieve, how success is measured, the target date, how autonomous the agents",
        "may be, who the user is (name, pronouns, time zone, context) and what the board's lead",
        "agent should be called and sound like. Then post a draft for the user to confirm.",
        "",
        *_how_to_reply(ref),
    ]
    return "\n".join(lines)


def answer_message(ref: OnboardingRef, *, question: str | None, answer: str, draft: bool) -> str:
    lines = _header("BOARD ONBOARDING ANSWER", ref)
    if question:
        lines.append(f"Question: {question}")
    lines += ["", answer, ""]
    if draft:
        lines.append(
            "The user answered after your draft: revise it (post a new draft) or ask a "
            "follow-up question."
        )
    else:
        lines.append("Ask your next question, or post the draft if you know enough.")
    lines += ["", *_how_to_reply(ref)]
    return "\n".join(lines)
