"""The sequence family: recurrent networks, temporal convolutions and a causal Transformer.

One model component per architecture (``rnn``, ``lstm``, ``gru``, ``tcn``, ``transformer``) serves
every sequence task; the dataset's ``info["task"]`` picks the head and the loss
(:mod:`.tasks`): ``classify`` (``seq-digits``, ``seq-mnist``, ``copy``), ``regress`` (``adding``)
and ``language-model`` (``text``).
"""
