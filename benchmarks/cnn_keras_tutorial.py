"""The plain Keras-tutorial recipe for a 28×28 CNN: the side ``cnn_training.py`` compares kerapre against.

Kept as the tutorials write it, so that the benchmark measures what a user would write
instead of kerapre, not a tuned version of it.
"""

import keras
from keras import layers


def tutorial_model():
    """The tutorials' small convnet for 28×28×1 images, ending in a softmax over 10 classes.

    The convolutional base (Conv2D 32 3×3 ReLU, MaxPooling 2×2, Conv2D 64 3×3 ReLU,
    MaxPooling 2×2) is the one of keras.io's "Simple MNIST convnet"
    (examples/vision/mnist_convnet.py) and of tensorflow.org's "Convolutional Neural
    Network (CNN)" tutorial (tutorials/images/cnn); the head (Flatten, Dense ReLU, Dense 10)
    is the TensorFlow tutorial's, with the 128 hidden units of kerapre's ``cnn_mnist``
    preset and the softmax of the Keras example, so both sides train the same network.
    """
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def compile_tutorial_model(model):
    """``model.compile`` as the TensorFlow CNN tutorial calls it (the string forms)."""
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def scale_pixels(images):
    """uint8 images to float32 in [0, 1], in NumPy, as both tutorials do before ``fit``."""
    return images.astype("float32") / 255


def tutorial_fit(x_train, y_train, x_test, y_test, epochs):
    """The whole recipe: scale in NumPy, build, compile, ``model.fit`` on the arrays with
    ``fit``'s default batch size (32, not written in the TensorFlow tutorial), evaluate.

    Args:
        x_train, x_test: uint8 images ``[N, 28, 28, 1]``.
        y_train, y_test: integer labels ``[N]``.
        epochs: passes over ``x_train``.

    Returns:
        ``(model, history, test_accuracy)``.
    """
    x_train, x_test = scale_pixels(x_train), scale_pixels(x_test)
    model = compile_tutorial_model(tutorial_model())
    history = model.fit(x_train, y_train, epochs=epochs, verbose=0)
    _, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return model, history, test_accuracy
