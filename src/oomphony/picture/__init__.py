"""The picture: a performance of the memory manager, drawn from frames and cues.

`Stage` draws the scene on any surface (no display calls, no /proc); `Display` opens
a window, the whole screen, a kiosk or a bare console and turns key presses into
`Action`s. See keys.CONTROLS for the live controls.
"""

from oomphony.commands import Action
from oomphony.picture.display import Display, dri_status
from oomphony.picture.hud import HudInfo
from oomphony.picture.keys import CONTROLS, controls_markdown
from oomphony.picture.stage import Stage

__all__ = ["CONTROLS", "Action", "Display", "HudInfo", "Stage", "controls_markdown", "dri_status"]
