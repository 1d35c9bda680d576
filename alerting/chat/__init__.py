"""Acting on an incident from a chat card: the buttons, the clicks that call back, who clicked.

A card channel (alerting/notifiers/feishu_app.py, dingtalk_app.py) sends each alert as an
interactive card with Acknowledge / I'm on my way / Resolve buttons. A click reaches roomwatch
as a platform callback (an HTTP request signed the platform's way, or a frame on DingTalk's
Stream connection); the channel verifies it and turns it into a `Click`; `act` maps the
clicking user through the duty roster to a person, records the action under that name and
gives back the card as it now stands."""
