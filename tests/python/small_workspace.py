"""A three-bin workspace (signal with a normfactor; background with shapesys and
normsys), small enough that fan-out tests spend their time in the executor."""

WORKSPACE = {
    "channels": [
        {
            "name": "c",
            "samples": [
                {
                    "name": "s",
                    "data": [5.0, 3.0, 2.0],
                    "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                },
                {
                    "name": "b",
                    "data": [50.0, 40.0, 30.0],
                    "modifiers": [
                        {"name": "u", "type": "shapesys", "data": [5.0, 4.0, 3.0]},
                        {
                            "name": "n",
                            "type": "normsys",
                            "data": {"hi": 1.1, "lo": 0.9},
                        },
                    ],
                },
            ],
        }
    ],
    "observations": [{"name": "c", "data": [55.0, 41.0, 33.0]}],
    "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    "version": "1.0.0",
}
