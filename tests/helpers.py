"""Small data makers shared by the tests."""

import tensorflow as tf


def tiny_images(n=64, shape=(28, 28, 1), classes=10, seed=0):
    """Random uint8 images and balanced labels."""
    rng = tf.random.Generator.from_seed(seed)
    images = tf.cast(rng.uniform((n, *shape), 0, 256, dtype=tf.int32), tf.uint8).numpy()
    labels = (tf.range(n) % classes).numpy()
    return images, labels
