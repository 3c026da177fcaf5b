"""End-to-end workflows: pretrain, fine-tune, and the quickstart that chains them."""
