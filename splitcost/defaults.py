"""The one set of defaults every command and API function shares.

A command-line option and the API parameter of the same name default to the same value, taken
from here; nothing else in splitcost writes a default for these.
"""

from __future__ import annotations

BACKBONE = "efficientnet"
INPUT_SHAPE = "3x224x224"
BATCH = 1
PRECISION: str | None = None  # the model's own dtype (float32 for torchvision models)
TASKS = "3"
HIDDEN = 256  # the paper's head width
DEVICE = "jetson-nano-4gb"
SERVER = "rtx-3090"
LINK = "1gbps"
MEMORY_MODEL = "inference"
PAYLOAD_DTYPE: str | None = None  # the precision's dtype (float32 at the default precision)
INPUT_DTYPE: str | None = None  # the precision's dtype for a float input (float32: the paper)
RUNTIME = "eager"
PROCESSES = "one"
IMAGES = 1
OBJECTIVE = "latency"
CUTS = "blocks"
FLEET_DEVICES = 100
FPS = 1.0
INGRESS = "10gbps"
CONCURRENCY = 1
FORMAT = "table"
BRANCH = "output"  # the paper's: the tasks share the whole backbone
FAN_OUT = "unicast"  # heads on several servers: a copy of the payload per server
RELAY_LINK = "ethernet-10g"  # between servers, when the first one relays the payload
MAX_BATCH = 1  # the server's dynamic batcher: 1 serves each request alone
MAX_QUEUE_DELAY = "0ms"  # Triton's default: no waiting for a fuller batch
NO_CACHE = False  # profiles are read from and stored in the profile cache
