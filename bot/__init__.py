"""The conversation core: channel-neutral triage, FAQ matching, resources and the hand-off state machine."""
